// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IPerpEngine} from "./interfaces/IPerpEngine.sol";

/// @title LiquidityVault
/// @notice ERC-4626 LP vault over the engine's collateral token. LPs are the counterparty of traders' net position:
/// they earn fees and funding and bear traders' profits. The vault holds no tokens: deposits go straight to the
/// engine, which keeps the vault's cash on its ledger.
/// @dev `totalAssets` is the engine's NAV (cash minus what traders would take closing everything now), rounded
/// down to token units. OpenZeppelin's virtual shares (decimals offset 6) make the first-depositor inflation attack
/// cost the attacker about a million times what it could take.
contract LiquidityVault is ERC4626 {
    using SafeERC20 for IERC20;

    IPerpEngine public immutable engine;
    /// @notice Seconds an account's shares stay locked after it deposits.
    uint256 public immutable lpCooldown;
    uint256 internal immutable tokenToWad;

    /// @notice When each account last received freshly minted shares.
    mapping(address => uint256) public lastDepositAt;

    /// @notice The account's shares are locked until `unlocksAt` (it deposited less than `lpCooldown` ago).
    error SharesLocked(address account, uint256 unlocksAt);
    /// @notice Deposits on behalf of another address would let anyone restart that address's cooldown.
    error DepositForAnotherAccount(address caller, address receiver);
    /// @notice The token delivered less than asked.
    error ShortTransfer(uint256 expected, uint256 received);

    constructor(IERC20 asset_, IPerpEngine engine_, uint256 lpCooldown_, string memory name_, string memory symbol_)
        ERC4626(asset_)
        ERC20(name_, symbol_)
    {
        engine = engine_;
        lpCooldown = lpCooldown_;
        tokenToWad = engine_.tokenToWad();
    }

    /// @notice NAV in token units, rounded down.
    function totalAssets() public view override returns (uint256) {
        return engine.vaultNav() / tokenToWad;
    }

    /// @notice 0 while the vault's NAV is zero with shares (or debt) outstanding: new money would pay old losses.
    function maxDeposit(address) public view override returns (uint256) {
        return _acceptsDeposits() ? type(uint256).max : 0;
    }

    function maxMint(address) public view override returns (uint256) {
        return _acceptsDeposits() ? type(uint256).max : 0;
    }

    /// @notice 0 during the owner's cooldown; otherwise the owner's assets, capped by the cash open interest does not
    /// need.
    function maxWithdraw(address owner) public view override returns (uint256) {
        if (_locked(owner)) return 0;
        return Math.min(_convertToAssets(balanceOf(owner), Math.Rounding.Floor), _liquidity());
    }

    function maxRedeem(address owner) public view override returns (uint256) {
        if (_locked(owner)) return 0;
        return Math.min(balanceOf(owner), _convertToShares(_liquidity(), Math.Rounding.Floor));
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (caller != receiver) revert DepositForAnotherAccount(caller, receiver);
        IERC20 token = IERC20(asset());
        address engineAddress = address(engine);
        uint256 balanceBefore = token.balanceOf(engineAddress);
        token.safeTransferFrom(caller, engineAddress, assets);
        uint256 received = token.balanceOf(engineAddress) - balanceBefore;
        if (received != assets) revert ShortTransfer(assets, received);
        engine.vaultDeposit(assets);
        lastDepositAt[receiver] = block.timestamp;
        _mint(receiver, shares);
        emit Deposit(caller, receiver, assets, shares);
    }

    function _withdraw(address caller, address receiver, address owner, uint256 assets, uint256 shares)
        internal
        override
    {
        if (caller != owner) _spendAllowance(owner, caller, shares);
        _burn(owner, shares);
        engine.vaultWithdraw(assets, receiver);
        emit Withdraw(caller, receiver, owner, assets, shares);
    }

    /// @dev Shares in cooldown can be neither transferred nor burned, so the lock cannot be dodged by moving them.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && _locked(from)) revert SharesLocked(from, lastDepositAt[from] + lpCooldown);
        super._update(from, to, value);
    }

    function _locked(address account) internal view returns (bool) {
        return block.timestamp < lastDepositAt[account] + lpCooldown;
    }

    function _liquidity() internal view returns (uint256) {
        return engine.vaultWithdrawable() / tokenToWad;
    }

    function _acceptsDeposits() internal view returns (bool) {
        if (totalAssets() != 0) return true;
        return totalSupply() == 0 && engine.vaultCash() >= 0;
    }
}
